"""The keyset custom resource against moto's Secrets Manager (run by scripts/test.sh):
`python -m unittest discover -s infra/jwt-keyset`."""

import base64
import json
import os
import sys
import types
import unittest

from moto import mock_aws

# cfnresponse exists only inside Lambda (for inline code); record what would be sent.
SENT = []
sys.modules["cfnresponse"] = types.SimpleNamespace(
    SUCCESS="SUCCESS",
    FAILED="FAILED",
    send=lambda event, context, status, data, physical_id=None, **_: SENT.append(
        (event["RequestType"], status, physical_id)
    ),
)
os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test")
os.environ.pop("AWS_ENDPOINT_URL_SECRETS_MANAGER", None)

import boto3  # noqa: E402

import index  # noqa: E402


class KeysetTest(unittest.TestCase):
    def setUp(self):
        SENT.clear()

    @mock_aws
    def test_create_writes_a_keyset_and_update_and_delete_keep_it(self):
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(Name="gigmarket/test/jwt-keys", SecretString="placeholder")["ARN"]
        event = {"ResourceProperties": {"SecretId": arn}}
        index.handler({**event, "RequestType": "Create"}, None)
        written = secrets.get_secret_value(SecretId=arn)["SecretString"]
        keyset = json.loads(written)
        self.assertEqual(keyset["active_kid"], "k1")
        # What shared/src/auth/access.rs accepts: base64url without padding, at least 32 bytes.
        secret = base64.urlsafe_b64decode(keyset["keys"]["k1"] + "==")
        self.assertGreaterEqual(len(secret), 32)
        self.assertNotIn("=", keyset["keys"]["k1"])
        for request_type in ("Update", "Delete"):
            index.handler({**event, "RequestType": request_type}, None)
        self.assertEqual(secrets.get_secret_value(SecretId=arn)["SecretString"], written)
        self.assertEqual(
            SENT, [(kind, "SUCCESS", "jwt-keyset") for kind in ("Create", "Update", "Delete")]
        )

    @mock_aws
    def test_a_failure_is_reported_not_left_hanging(self):
        index.handler({"RequestType": "Create", "ResourceProperties": {"SecretId": "missing"}}, None)
        self.assertEqual(SENT, [("Create", "FAILED", "jwt-keyset")])


if __name__ == "__main__":
    unittest.main()
