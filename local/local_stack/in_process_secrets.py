"""A real Momento key handed to the function in process, never served on a port.

moto's Secrets Manager server answers ``GetSecretValue`` to any process on the machine, without
authentication, and its CORS reflects any origin, so any web page open in a browser can read it too.
That is acceptable for the throwaway key of the local Momento service (it only works against that
service, on 127.0.0.1, for as long as this process runs, and the front door hands out tokens to
anyone anyway); it is not for a real account's key. With a real key, the stack gives the function
this object instead of a boto3 client: it answers the one Secrets Manager call the function makes,
from memory.
"""

from __future__ import annotations

from collections.abc import Mapping

from botocore.exceptions import ClientError


class InProcessSecretsManager:
    """Answers ``get_secret_value(SecretId=...)`` as boto3's Secrets Manager client does, from memory.

    An unknown ``SecretId`` raises the same ``ClientError`` (``ResourceNotFoundException``) as AWS.
    The values are never part of ``repr``.
    """

    def __init__(self, secret_strings: Mapping[str, str]) -> None:
        self._secret_strings = dict(secret_strings)

    def get_secret_value(self, *, SecretId: str) -> dict[str, str]:
        try:
            secret_string = self._secret_strings[SecretId]
        except KeyError:
            error = {"Code": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret."}
            raise ClientError({"Error": error}, "GetSecretValue") from None
        return {"Name": SecretId, "SecretString": secret_string}

    def __repr__(self) -> str:
        return f"InProcessSecretsManager(secret_ids={sorted(self._secret_strings)!r})"
