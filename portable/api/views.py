"""A team's prompts as one archive: download it, upload one (team admins only).

Both call the same services as export_prompts and import_prompts; the archive is the
commands' tree, packed as a tar.gz.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.services import find_team, require
from portable.archive import MAX_ARCHIVE_BYTES, pack, unpack
from portable.export import export_team
from portable.importing import import_tree
from registry_site.api import ERRORS, RegistryView
from registry_site.errors import Invalid

ARCHIVE_TYPES = ("application/gzip", "application/x-gzip", "application/zip", "application/x-tar")
TOO_LARGE = f"The archive is larger than {MAX_ARCHIVE_BYTES // (1024 * 1024)} MB."

ARCHIVE_ERRORS = {
    **ERRORS,
    400: OpenApiResponse(
        description="a bad archive or one past a limit (code bad_archive), or files past a "
        "limit of the import (code invalid, details.limit names it)"
    ),
    413: OpenApiResponse(description="the archive is too large"),
    415: OpenApiResponse(description="neither multipart nor an archive body"),
}


class ArchiveParser(BaseParser):
    """A raw archive body, read up to the size limit and no further."""

    media_type = "application/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        if stream is None:
            return b""
        data = stream.read(MAX_ARCHIVE_BYTES + 1)
        if len(data) > MAX_ARCHIVE_BYTES:
            raise Invalid(TOO_LARGE, code="bad_archive")
        return data


PromptResult = inline_serializer(
    name="ImportedPrompt",
    fields={
        "team": serializers.CharField(),
        "slug": serializers.CharField(),
        "status": serializers.ChoiceField(["created", "updated", "unchanged", "conflict", "error"]),
        "versions_created": serializers.ListField(child=serializers.IntegerField()),
        "deployments_created": serializers.DictField(child=serializers.IntegerField()),
        "conflicts": serializers.ListField(
            child=inline_serializer(
                name="ImportConflict",
                fields={
                    "version": serializers.IntegerField(allow_null=True),
                    "reason": serializers.CharField(),
                },
            )
        ),
        "notes": serializers.ListField(child=serializers.CharField()),
    },
)
ImportReportOut = inline_serializer(
    name="ImportReport",
    fields={
        "dry_run": serializers.BooleanField(),
        "ok": serializers.BooleanField(),
        "totals": serializers.DictField(child=serializers.IntegerField()),
        "problems": serializers.ListField(child=serializers.CharField()),
        "prompts": serializers.ListField(child=PromptResult),
    },
)
ArchiveUpload = inline_serializer(name="ArchiveUpload", fields={"archive": serializers.FileField()})


class TeamExport(RegistryView):
    @extend_schema(
        summary="Download a team's prompts as a tar.gz archive (team admins)",
        responses={(200, "application/gzip"): OpenApiTypes.BINARY, **ERRORS},
    )
    def get(self, request: Request, team: str) -> HttpResponse:
        found = find_team(request.user, team)
        archive = pack(export_team(request.user, found))
        response = HttpResponse(archive, content_type="application/gzip")
        response["Content-Disposition"] = f'attachment; filename="{found.slug}.tar.gz"'
        return response


class TeamImport(RegistryView):
    parser_classes = [MultiPartParser, ArchiveParser]

    @extend_schema(
        summary="Upload an archive of prompts into a team (team admins); a dry run by default",
        description=(
            "The archive (tar.gz or zip, as a multipart field `archive` or as the raw body) "
            "holds the folder of one team, as `GET …/export` gives it; it is imported into "
            "this team, whatever that folder's name. `dry_run` defaults to true: the answer "
            "says what an import would do and nothing is written; send `dry_run=false` to "
            "import. What exists is never rewritten; each prompt is imported whole or not "
            "at all, and the answer reports each one. The importing user is the author of "
            "every version it adds; the authors and times of the files are kept as "
            "`imported_author` and `imported_at`.\n\n"
            "Limits, checked before anything is read or written: 10 MB of archive; 10,000 "
            "files of at most 2 MB and 50 MB in all; 20,000 entries of any kind (files, "
            "folders, tar extension headers); tar extension headers of at most 64 KB, four "
            "in front of one entry; plain or gzip'd tar, or zip with stored or deflated "
            "entries; no links, devices or sparse files. YAML: no aliases (`*name`), at "
            "most 50 levels deep, 20,000 values in a file and 200,000 in all."
        ),
        parameters=[OpenApiParameter("dry_run", bool, default=True)],
        request={
            "multipart/form-data": ArchiveUpload,
            "application/gzip": OpenApiTypes.BINARY,
            "application/zip": OpenApiTypes.BINARY,
        },
        responses={200: ImportReportOut, **ARCHIVE_ERRORS},
    )
    def post(self, request: Request, team: str) -> Response:
        found = find_team(request.user, team)
        require(request.user, "admin", found, "Only team admins import prompts.")
        dry_run = _flag(request.query_params.get("dry_run"))
        files = unpack(_archive_bytes(request))
        report = import_tree(request.user, files, into=found.slug, dry_run=dry_run)
        return Response(report.as_dict())


def _flag(raw: str | None) -> bool:
    if raw is None:
        return True
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise Invalid("dry_run is true or false.", {"field": "dry_run"})


def _archive_bytes(request: Request) -> bytes:
    data = request.data
    if isinstance(data, bytes):
        return data
    upload = data.get("archive") if hasattr(data, "get") else None
    if upload is None or not hasattr(upload, "read"):
        raise Invalid(
            "The request holds no archive: send it as the body, or as the multipart field "
            "'archive'.",
            {"field": "archive"},
            code="bad_archive",
        )
    if upload.size > MAX_ARCHIVE_BYTES:
        raise Invalid(TOO_LARGE, code="bad_archive")
    return upload.read()
