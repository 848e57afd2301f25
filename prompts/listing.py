"""Pages of the prompt list: what a list page reads, and how it counts.

A long list is counted by PostgreSQL's planner rather than a second pass over every
match, and a page reads its ids first, then only their rows.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.paginator import EmptyPage, Page, Paginator
from django.db import connection
from django.db.models import QuerySet
from django.utils.functional import cached_property

from prompts.models import Prompt

# A version's heavy columns, which no list shows.
VERSION_BODY = ("template", "messages", "config", "variables")
# A list the database expects to hold more prompts than this shows the estimate
# ("about 61,000"); counting exactly would read every match again.
ESTIMATE_ABOVE = 5_000


def without_bodies(queryset: QuerySet, prefix: str) -> QuerySet:
    """``queryset`` without the heavy columns of the version at ``prefix``."""
    return queryset.defer(*(f"{prefix}{column}" for column in VERSION_BODY))


class ListPaginator(Paginator):
    """Counts exactly, unless PostgreSQL's planner expects more than ESTIMATE_ABOVE
    rows: then its estimate is the count (``estimated``), which costs a plan, not a
    second pass over tens of thousands of matches. An estimated list's pages are read
    as asked (past its real end: no rows), and ``settle`` corrects the count from what
    a page held."""

    estimated = False

    @cached_property
    def count(self) -> int:
        if connection.vendor == "postgresql":
            plan = self.object_list.explain(format="json")  # "": nothing can match
            expected = int(json.loads(plan)[0]["Plan"]["Plan Rows"]) if plan else 0
            if expected > ESTIMATE_ABOVE:
                self.estimated = True
                return int(float(f"{expected:.2g}"))  # as precise as an estimate is
        return super().count

    def page(self, number: Any) -> Page:
        if self.count and self.estimated:
            bottom = (number - 1) * self.per_page
            return self._get_page(self.object_list[bottom : bottom + self.per_page], number, self)
        return super().page(number)

    def settle(self, page: Page) -> None:
        if not self.estimated:
            return
        shown = len(page.object_list)
        if shown < self.per_page:  # the last page: the count is known exactly now
            self.count = (page.number - 1) * self.per_page + shown
            self.estimated = False
        elif self.count <= page.number * self.per_page:  # fell short: there may be more
            self.count = page.number * self.per_page + 1
        else:
            return
        self.__dict__.pop("num_pages", None)


def prompt_page(prompts: QuerySet, number: int, per_page: int) -> Page:
    """Page ``number`` of a list of prompts: its ids first, then their rows with what
    the list shows. EmptyPage past the end.

    Reading the ids alone puts the LIMIT right over the sort, so a sorted search keeps
    the best 25 of its matches in memory; with the joins in between, PostgreSQL sorted
    every match's whole row (60,000 rows, spilled to disk, at 100,000 prompts)."""
    paginator = ListPaginator(prompts.values_list("pk", flat=True), per_page)
    page = paginator.page(number)
    ids = list(page.object_list)
    if not ids and page.number > 1:  # past the end of an estimated count
        raise EmptyPage("That page contains no results")
    page.object_list = ids
    paginator.settle(page)
    # The ids passed every filter; reading their rows by key alone skips the search
    # document, which the filter would otherwise read and parse again for each row.
    rows = without_bodies(
        Prompt.objects.select_related("team", "latest_version__author").defer("search_text"),
        "latest_version__",
    ).in_bulk(ids)
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page
