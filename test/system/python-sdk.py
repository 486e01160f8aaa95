"""Drives the local stack's API with the official Batch AI Python SDK (Debian python3-azure, azure.mgmt.batchai
7.0.0b1, whose client class is `BatchAI`), authenticated with the bearer token from the stack descriptor only.

The client keeps the SDK's own authentication policy (azure-core's BearerTokenCredentialPolicy, fed by a credential
that returns the token); since the stack serves plain http on 127.0.0.1, each call passes azure-core's
`enforce_https=False` option, which that policy honours.

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
    """A TokenCredential handing out one token (the one from stack.json), as azure-identity's would from Entra ID."""

    def __init__(self, token):
        self.token = token

    def get_token(self, *scopes, **kwargs):
        return AccessToken(self.token, 2**31 - 1)


def client(token):
    # The SDK's own authentication policy (BearerTokenCredentialPolicy) sends the token; it refuses plain http
    # unless told otherwise per call, and the stack serves http on 127.0.0.1 only: every call passes
    # enforce_https=False (LRO polling inherits the call's options).
    if token is None:
        # No credential at all: a no-op policy in place of the bearer one, so no Authorization header is sent.
        return BatchAI(StaticToken(""), SUB, base_url=BASE, authentication_policy=SansIOHTTPPolicy())
    return BatchAI(StaticToken(token), SUB, base_url=BASE, polling_interval=0.2)


LOOPBACK = {"enforce_https": False}


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
out["tampered"] = status_of(lambda: client(tampered(TOKEN)).workspaces.get(RG, "py-ws", **LOOPBACK))
out["owner_create_workspace"] = status_of(
    lambda: owner.workspaces.begin_create(RG, "py-ws", models.WorkspaceCreateParameters(location="local"), **LOOPBACK).result()
)
out["owner_create_experiment"] = status_of(lambda: owner.experiments.begin_create(RG, "py-ws", "py-exp", **LOOPBACK).result())
out["owner_list"] = sorted(w.name for w in owner.workspaces.list_by_resource_group(RG, **LOOPBACK))

reader = client(os.environ["READER_TOKEN"])
out["reader_get"] = status_of(lambda: reader.workspaces.get(RG, "py-ws", **LOOPBACK))
out["reader_list_experiments"] = sorted(e.name for e in reader.experiments.list_by_workspace(RG, "py-ws", **LOOPBACK))
out["reader_create_experiment"] = status_of(lambda: reader.experiments.begin_create(RG, "py-ws", "nope", **LOOPBACK).result())
out["reader_delete_workspace"] = status_of(lambda: reader.workspaces.begin_delete(RG, "py-ws", **LOOPBACK).result())
out["reader_create_workspace"] = status_of(
    lambda: reader.workspaces.begin_create(RG, "py-ws2", models.WorkspaceCreateParameters(location="local"), **LOOPBACK).result()
)
print(json.dumps(out))
