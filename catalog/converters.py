class ExternalIdConverter:
    """A storefront id in a URL: any characters but '/' and NUL, which PostgreSQL cannot store."""

    regex = "[^/\x00]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value
