"""Drives swrd with Huawei's official Python SDK (huaweicloudsdkswr), unmodified.

Usage: drive.py ENDPOINT AK SK TOKEN
Prints one JSON object: scenario name -> what the SDK returned. The Rust test
(tests/it/official_sdk.rs) asserts on it, so nothing here decides pass or fail.
"""
import json
import sys

from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkswr.v2 import ListRepositoryTagsRequest, SwrClient

endpoint, ak, sk, token = sys.argv[1:5]

config = HttpConfig.get_default_config()
config.retry_times = 0
client = (
    SwrClient.new_builder()
    .with_http_config(config)
    .with_credentials(BasicCredentials(ak, sk, "fakeprojectid"))
    .with_endpoint(endpoint)
    .build()
)


def ok(resp):
    return {
        "status": resp.status_code,
        "content_range": resp.content_range,
        "tags": [t.tag for t in (resp.body or [])],
        "first": resp.body[0].to_dict() if resp.body else None,
    }


def call(request, with_token=False):
    try:
        if with_token:
            # The fact sheet's route for an IAM token: a pre-set Authorization
            # header makes the SDK skip signing; swrd takes the token.
            invoker = client.list_repository_tags_invoker(request)
            invoker.add_header("X-Auth-Token", token)
            invoker.add_header("Authorization", "x")
            return ok(invoker.invoke())
        return ok(client.list_repository_tags(request))
    except exceptions.ClientRequestException as e:
        return {
            "status": e.status_code,
            "error_code": e.error_code,
            "error_msg": e.error_msg,
            "request_id": e.request_id,
        }


R = ListRepositoryTagsRequest
results = {
    "all": call(R(namespace="group", repository="busybox")),
    "page": call(R(namespace="group", repository="busybox", offset="0", limit="10")),
    "page2": call(R(namespace="group", repository="busybox", offset="10", limit="10")),
    "by_tag_asc": call(
        R(namespace="group", repository="busybox", offset="0", limit="5", order_column="tag", order_type="asc")
    ),
    "by_updated_asc": call(
        R(namespace="group", repository="busybox", offset="0", limit="5", order_column="updated_at", order_type="asc")
    ),
    "tag_filter": call(R(namespace="group", repository="busybox", tag="0.1")),
    "filter_form": call(
        R(namespace="group", repository="busybox", filter="offset::0|limit::5|order_column::tag|order_type::asc")
    ),
    "slash_repo": call(R(namespace="group", repository="tools$busybox")),
    "missing": call(R(namespace="group", repository="nope")),
    "bad_limit": call(R(namespace="group", repository="busybox", offset="0", limit="1001")),
    "token": call(R(namespace="group", repository="busybox", offset="0", limit="3"), with_token=True),
}
print(json.dumps(results))
