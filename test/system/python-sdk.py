"""Drives the local stack's API with the official Batch AI Python SDK (Debian python3-azure, azure.mgmt.batchai
7.0.0b1, whose client class is `BatchAI`), authenticated with the bearer token from the stack descriptor only.

Usage: /usr/bin/python3 python-sdk.py <stack.json>   (env READER_TOKEN: a token of a principal holding Reader)
Prints one JSON object with what each step observed; the node test (python-sdk.test.ts) asserts on it.
"""
import json
import os
import sys

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.batchai import BatchAI, models

descriptor = json.load(open(sys.argv[1]))
BASE = descriptor["functions"]["apiBaseUrl"]
SUB = descriptor["subscriptionId"]
RG = descriptor["resourceGroup"]
TOKEN = descriptor["auth"]["token"]


class StaticToken:
    """A TokenCredential over one token (the SDK asks for a credential; the token is what ARM clients send)."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token or "", 2**31 - 1)


class BearerOverLoopbackHttp(SansIOHTTPPolicy):
    """azure-core's BearerTokenCredentialPolicy refuses plain-http URLs; the stack serves http on 127.0.0.1 only.
    Same header, same token: `Authorization: Bearer <token>`."""

    def __init__(self, token):
        self.token = token

    def on_request(self, request):
        if self.token is not None:
            request.http_request.headers["Authorization"] = "Bearer " + self.token


def client(token):
    return BatchAI(
        StaticToken(token),
        SUB,
        base_url=BASE,
        authentication_policy=BearerOverLoopbackHttp(token),
        polling_interval=0.2,
    )


def status_of(call):
    try:
        result = call()
        return {"status": 200, "name": getattr(result, "name", None)}
    except HttpResponseError as err:
        code = err.error.code if err.error is not None else None
        return {"status": err.status_code, "code": code}


def tampered(token):
    header, payload, signature = token.split(".")
    flipped = ("B" if signature[10] == "A" else "A")
    return ".".join([header, payload, signature[:10] + flipped + signature[11:]])


out = {}
owner = client(TOKEN)
out["no_token"] = status_of(lambda: client(None).workspaces.get(RG, "py-ws"))
out["tampered"] = status_of(lambda: client(tampered(TOKEN)).workspaces.get(RG, "py-ws"))
out["owner_create_workspace"] = status_of(
    lambda: owner.workspaces.begin_create(RG, "py-ws", models.WorkspaceCreateParameters(location="local")).result()
)
out["owner_create_experiment"] = status_of(lambda: owner.experiments.begin_create(RG, "py-ws", "py-exp").result())
out["owner_list"] = sorted(w.name for w in owner.workspaces.list_by_resource_group(RG))

reader = client(os.environ["READER_TOKEN"])
out["reader_get"] = status_of(lambda: reader.workspaces.get(RG, "py-ws"))
out["reader_list_experiments"] = sorted(e.name for e in reader.experiments.list_by_workspace(RG, "py-ws"))
out["reader_create_experiment"] = status_of(lambda: reader.experiments.begin_create(RG, "py-ws", "nope").result())
out["reader_delete_workspace"] = status_of(lambda: reader.workspaces.begin_delete(RG, "py-ws").result())
out["reader_create_workspace"] = status_of(
    lambda: reader.workspaces.begin_create(RG, "py-ws2", models.WorkspaceCreateParameters(location="local")).result()
)
print(json.dumps(out))
