"""CloudFormation custom resource: writes a fresh JWT keyset into the secret on create.

Updates and deletes leave the keys alone (the stack deletes the secret itself), so keys
only change by an operator's rotation. The key is never logged or returned.
"""
import json
import secrets

import boto3
import cfnresponse


def handler(event, context):
    status = cfnresponse.SUCCESS
    try:
        if event["RequestType"] == "Create":
            keyset = {"active_kid": "k1", "keys": {"k1": secrets.token_urlsafe(64)}}
            boto3.client("secretsmanager").put_secret_value(
                SecretId=event["ResourceProperties"]["SecretId"],
                SecretString=json.dumps(keyset),
            )
    except Exception as error:  # report every failure, or the stack waits an hour
        print(f"writing the JWT keyset failed: {type(error).__name__}: {error}")
        status = cfnresponse.FAILED
    cfnresponse.send(event, context, status, {}, "jwt-keyset")
