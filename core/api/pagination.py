from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class PagePagination(PageNumberPagination):
    """`page` and `pageSize` (max 200), answered as {results, page, pageSize, total}."""

    page_query_param = "page"
    page_size_query_param = "pageSize"
    page_size = 50
    max_page_size = 200

    def get_paginated_response(self, data):
        return Response(
            {
                "results": data,
                "page": self.page.number,
                "pageSize": self.page.paginator.per_page,
                "total": self.page.paginator.count,
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "page", "pageSize", "total"],
            "properties": {
                "results": schema,
                "page": {"type": "integer"},
                "pageSize": {"type": "integer"},
                "total": {"type": "integer"},
            },
        }
