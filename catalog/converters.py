class ExternalIdConverter:
    """A storefront id in a URL: any characters but '/' and NUL. Ids sent since they are checked
    (catalog.validation) hold neither; an id that could never be sent simply finds nothing."""

    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class StoredExternalIdConverter(ExternalIdConverter):
    """Any id a shop may hold, '/' included: shoppers stored before ids were checked must stay erasable.
    It takes the rest of the path, so a route using it comes after the routes it could shadow."""

    regex = "[^\x00]+"
