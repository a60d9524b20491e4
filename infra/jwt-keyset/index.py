"""CloudFormation custom resource: writes a fresh pair of JWT keysets on create.

The signing keyset (`SigningSecretId`, read by `auth` alone) holds an Ed25519 seed; the
verifying keyset (`SecretId`, read by every API function) holds its public key and the key that
signs pagination cursors. Lambda's Python runtime has no Ed25519 library, only hashlib, so the
public key is derived here as RFC 8032 (5.1.5) specifies; test_index.py checks it against the
`cryptography` package. It runs once, at stack creation, inside the stack's own function.

Updates and deletes leave the keys alone (the stack deletes the secrets itself), so keys only
change by an operator's rotation. No key is ever logged or returned.
"""
import base64
import hashlib
import json
import secrets

import boto3

P = 2**255 - 19
D = -121665 * pow(121666, P - 2, P) % P


def _add(p, q):
    # Extended twisted Edwards coordinates (RFC 8032, 5.1.4).
    x1, y1, z1, t1 = p
    x2, y2, z2, t2 = q
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _base_point():
    y = 4 * pow(5, P - 2, P) % P
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P)
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * pow(2, (P - 1) // 4, P) % P
    if x & 1:
        x = P - x
    return (x, y, 1, x * y % P)


def public_key(seed):
    """The Ed25519 public key of a 32-byte seed (RFC 8032, 5.1.5)."""
    digest = hashlib.sha512(seed).digest()
    scalar = int.from_bytes(digest[:32], "little")
    scalar &= (1 << 254) - 8
    scalar |= 1 << 254
    point, result = _base_point(), (0, 1, 1, 0)
    while scalar:
        if scalar & 1:
            result = _add(result, point)
        point = _add(point, point)
        scalar >>= 1
    x, y, z, _ = result
    z_inverse = pow(z, P - 2, P)
    x, y = x * z_inverse % P, y * z_inverse % P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _base64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_keysets(kid):
    """A signing keyset of one fresh key and the verifying keyset that goes with it."""
    seed = secrets.token_bytes(32)
    signing = {"active_kid": kid, "keys": {kid: _base64url(seed)}}
    verifying = {
        "keys": {kid: _base64url(public_key(seed))},
        "cursor_key": _base64url(secrets.token_bytes(32)),
    }
    return signing, verifying


def handler(event, context):
    # Only inside Lambda (inline code gets it from the runtime); stack.sh imports this module
    # for new_keysets alone.
    import cfnresponse

    status = cfnresponse.SUCCESS
    try:
        if event["RequestType"] == "Create":
            properties = event["ResourceProperties"]
            signing, verifying = new_keysets("k1")
            client = boto3.client("secretsmanager")
            client.put_secret_value(
                SecretId=properties["SecretId"], SecretString=json.dumps(verifying)
            )
            client.put_secret_value(
                SecretId=properties["SigningSecretId"], SecretString=json.dumps(signing)
            )
    except Exception as error:  # report every failure, or the stack waits an hour
        print(f"writing the JWT keysets failed: {type(error).__name__}: {error}")
        status = cfnresponse.FAILED
    cfnresponse.send(event, context, status, {}, "jwt-keyset")
