"""The OpenAPI schema at /api/schema/ is a valid OpenAPI 3 document that describes every
endpoint of the contract (/work/shared/api.md), and the browsable docs answer."""

import re

import pytest
from django.test import Client
from drf_spectacular.validation import validate_schema

SCHEMA_URL = "/api/schema/"
P = "/api/v1/prompts/{team}/{slug}"

# Every (method, path) of api.md; path parameters are compared by position, not name.
CONTRACT = [
    ("get", "/api/v1/teams"),
    ("post", "/api/v1/teams"),
    ("get", "/api/v1/teams/{team}/members"),
    ("put", "/api/v1/teams/{team}/members/{username}"),
    ("delete", "/api/v1/teams/{team}/members/{username}"),
    ("get", "/api/v1/teams/{team}/environments"),
    ("get", "/api/v1/prompts"),
    ("post", "/api/v1/prompts"),
    ("get", P),
    ("patch", P),
    ("delete", P),
    ("post", f"{P}/restore"),
    ("get", f"{P}/versions"),
    ("post", f"{P}/versions"),
    ("get", f"{P}/versions/{{n}}"),
    ("put", f"{P}/versions/{{n}}"),
    ("patch", f"{P}/versions/{{n}}"),
    ("delete", f"{P}/versions/{{n}}"),
    ("post", f"{P}/render"),
    ("get", f"{P}/resolve"),
    ("post", f"{P}/deployments"),
    ("get", f"{P}/deployments"),
    ("post", f"{P}/deployments/rollback"),
    ("get", f"{P}/versions/{{n}}/comments"),
    ("post", f"{P}/versions/{{n}}/comments"),
    ("get", f"{P}/compare"),
    ("post", "/api/v1/tokens"),
]

# Query parameters api.md names.
CONTRACT_QUERY = [
    ("get", "/api/v1/prompts", {"q", "tag", "team", "page", "archived"}),
    ("get", f"{P}/resolve", {"environment", "version", "label"}),
    ("get", f"{P}/deployments", {"environment"}),
    ("get", f"{P}/compare", {"from", "to"}),
]

# Request body fields api.md names.
CONTRACT_BODIES = [
    ("post", "/api/v1/teams", {"slug", "name"}),
    ("put", "/api/v1/teams/{team}/members/{username}", {"role"}),
    (
        "post",
        "/api/v1/prompts",
        {
            "team",
            "name",
            "slug",
            "description",
            "tags",
            "template",
            "variables",
            "config",
            "change_note",
            "deploy_to",
        },
    ),
    ("patch", P, {"name", "description", "tags", "slug"}),
    (
        "post",
        f"{P}/versions",
        {"template", "variables", "config", "change_note", "deploy_to"},
    ),
    ("post", f"{P}/render", {"variables", "version", "environment"}),
    ("post", f"{P}/deployments", {"environment", "version", "scheduled_for"}),
    ("post", f"{P}/deployments/rollback", {"environment"}),
    ("post", f"{P}/versions/{{n}}/comments", {"body", "parent", "verdict"}),
]


def shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


@pytest.fixture(scope="module")
def document():
    response = Client().get(SCHEMA_URL, {"format": "json"})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def operation(document: dict, method: str, path: str) -> dict:
    by_shape = {shape(p): ops for p, ops in document["paths"].items()}
    assert shape(path) in by_shape, f"{path} is not in the schema"
    operations = by_shape[shape(path)]
    assert method in operations, f"{method.upper()} {path} is not in the schema"
    return operations[method]


def test_the_schema_is_a_valid_openapi_3_document(document):
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    validate_schema(document)


def test_the_schema_also_answers_in_yaml(client):
    response = client.get(SCHEMA_URL)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


@pytest.mark.parametrize(("method", "path"), CONTRACT, ids=[f"{m} {p}" for m, p in CONTRACT])
def test_the_schema_lists_every_operation_of_the_contract(document, method, path):
    documented = operation(document, method, path)
    assert documented["responses"], f"{method.upper()} {path} documents no response"


@pytest.mark.parametrize(
    ("method", "path", "names"), CONTRACT_QUERY, ids=[f"{m} {p}" for m, p, _ in CONTRACT_QUERY]
)
def test_the_schema_lists_the_query_parameters_of_the_contract(document, method, path, names):
    parameters = operation(document, method, path).get("parameters", [])
    assert names <= {p["name"] for p in parameters if p["in"] == "query"}


@pytest.mark.parametrize(
    ("method", "path", "names"), CONTRACT_BODIES, ids=[f"{m} {p}" for m, p, _ in CONTRACT_BODIES]
)
def test_the_schema_describes_the_request_bodies_of_the_contract(document, method, path, names):
    body = operation(document, method, path)["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"]
    component = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert names <= set(component["properties"])


def test_the_browsable_docs_answer(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    # The page loads its start script as a file (the CSP allows no inline script).
    start = client.get("/api/docs/?script=")
    assert start["Content-Type"].startswith("application/javascript")
    assert SCHEMA_URL.encode() in start.content
