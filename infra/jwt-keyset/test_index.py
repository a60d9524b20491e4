"""The keyset custom resource against moto's Secrets Manager (run by scripts/test.sh):
`python -m unittest discover -s infra/jwt-keyset`."""

import base64
import json
import os
import sys
import types
import unittest

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
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


def decode(value):
    # What shared/src/auth/access.rs accepts: base64url without padding.
    assert "=" not in value
    return base64.urlsafe_b64decode(value + "==")


def public_key_of(seed):
    """The public key as a widely used library derives it."""
    key = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class KeysetTest(unittest.TestCase):
    def setUp(self):
        SENT.clear()

    def test_public_keys_are_those_of_rfc_8032(self):
        # RFC 8032, 7.1, TEST 1, then fresh seeds.
        seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        self.assertEqual(
            index.public_key(seed).hex(),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        )
        for _ in range(20):
            seed = os.urandom(32)
            self.assertEqual(index.public_key(seed), public_key_of(seed))

    @mock_aws
    def test_create_writes_both_keysets_and_update_and_delete_keep_them(self):
        secrets = boto3.client("secretsmanager")
        verifying_arn = secrets.create_secret(Name="gigmarket/test/jwt-keys", SecretString="placeholder")["ARN"]
        signing_arn = secrets.create_secret(
            Name="gigmarket/test/jwt-signing-keys", SecretString="placeholder"
        )["ARN"]
        event = {"ResourceProperties": {"SecretId": verifying_arn, "SigningSecretId": signing_arn}}
        index.handler({**event, "RequestType": "Create"}, None)
        written = [secrets.get_secret_value(SecretId=arn)["SecretString"] for arn in (verifying_arn, signing_arn)]
        verifying, signing = (json.loads(text) for text in written)
        self.assertEqual(signing["active_kid"], "k1")
        seed = decode(signing["keys"]["k1"])
        self.assertEqual(len(seed), 32)
        self.assertEqual(set(verifying), {"keys", "cursor_key"})
        self.assertEqual(decode(verifying["keys"]["k1"]), public_key_of(seed))
        self.assertGreaterEqual(len(decode(verifying["cursor_key"])), 32)
        for request_type in ("Update", "Delete"):
            index.handler({**event, "RequestType": request_type}, None)
        self.assertEqual(
            [secrets.get_secret_value(SecretId=arn)["SecretString"] for arn in (verifying_arn, signing_arn)],
            written,
        )
        self.assertEqual(
            SENT, [(kind, "SUCCESS", "jwt-keyset") for kind in ("Create", "Update", "Delete")]
        )

    @mock_aws
    def test_a_failure_is_reported_not_left_hanging(self):
        index.handler(
            {"RequestType": "Create", "ResourceProperties": {"SecretId": "missing", "SigningSecretId": "missing"}},
            None,
        )
        self.assertEqual(SENT, [("Create", "FAILED", "jwt-keyset")])


if __name__ == "__main__":
    unittest.main()
