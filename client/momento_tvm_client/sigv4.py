"""AWS Signature Version 4 for httpx: calling a vending machine behind an IAM-authenticated Function
URL (``AWS_IAM``) or API Gateway route.

botocore does the signing and finds the credentials (environment, profile, SSO, instance role). It is
imported only when a signer is built, so the client distribution does not depend on it.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

# <url-id>.lambda-url.<region>.on.aws and <api-id>.execute-api.<region>.amazonaws.com
_AWS_HOST: Final = re.compile(r"\.(lambda-url|execute-api)\.([a-z0-9-]+)\.(?:on\.aws|amazonaws\.com)$")
_SERVICE_BY_HOST_KIND: Final = {"lambda-url": "lambda", "execute-api": "execute-api"}
DEFAULT_SERVICE: Final = "lambda"
# The request headers that are signed besides those SigV4 adds: what a proxy may rewrite stays out.
_SIGNED_HEADERS: Final = ("content-type",)
_SIGNATURE_HEADERS: Final = ("Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256")


class SigV4Error(Exception):
    """A request cannot be signed: botocore is missing, no credentials, or no region."""


def region_and_service(url: str, region: str | None = None) -> tuple[str, str]:
    """The region and signing service for ``url``: from its host name when it is an AWS one
    (``...lambda-url.eu-west-1.on.aws``), else ``region`` with the Lambda service."""
    match = _AWS_HOST.search(urlsplit(url).hostname or "")
    service = _SERVICE_BY_HOST_KIND[match.group(1)] if match else DEFAULT_SERVICE
    region = region or (match.group(2) if match else None)
    if not region:
        raise SigV4Error(f"cannot tell the AWS region from {url}: pass --region")
    return region, service


class AwsSigV4Auth(httpx.Auth):
    """Signs every request with SigV4 for ``service`` in ``region``. Build it with :func:`sigv4_auth`."""

    requires_request_body = True

    def __init__(self, credentials: Any, region: str, service: str) -> None:
        from botocore.auth import SigV4Auth

        self._signer = SigV4Auth(credentials, service, region)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        from botocore.awsrequest import AWSRequest

        headers = {name: request.headers[name] for name in _SIGNED_HEADERS if name in request.headers}
        signed = AWSRequest(method=request.method, url=str(request.url), data=request.content, headers=headers)
        self._signer.add_auth(signed)
        for name in _SIGNATURE_HEADERS:
            value = signed.headers.get(name)
            if value is not None:
                request.headers[name] = value
        yield request


def sigv4_auth(url: str, *, region: str | None = None) -> AwsSigV4Auth:
    """A SigV4 signer for ``url`` with the credentials botocore finds (read once, now)."""
    try:
        import botocore.session
    except ImportError as exc:
        raise SigV4Error(
            "--sigv4 needs botocore, which the client does not install: pip install botocore (or boto3)"
        ) from exc
    region, service = region_and_service(url, region)
    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise SigV4Error("--sigv4 found no AWS credentials (environment, profile, SSO or instance role)")
    return AwsSigV4Auth(credentials.get_frozen_credentials(), region, service)
