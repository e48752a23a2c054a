"""Pagination used by every list: page numbers with a bounded page size, cursors for ledgers."""

from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class CursorPagination(pagination.CursorPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000
    ordering = "-id"
