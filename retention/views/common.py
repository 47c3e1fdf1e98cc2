from django.core.paginator import Page, Paginator

PER_PAGE = 50


def paginate(request, queryset, per_page: int = PER_PAGE) -> Page:
    """The requested page; a page number out of range shows the last page rather than a 404."""
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))
