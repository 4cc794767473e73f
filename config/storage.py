"""Static files: hashed and compressed once collected, served by their own name before that."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Links a file by its hashed name when `collectstatic` listed it in the manifest, else by its own name,
    which WhiteNoise serves from the apps' static folders (WHITENOISE_USE_FINDERS): a server started before
    `collectstatic`, or after a deploy that added a file, serves every page rather than failing them."""

    manifest_strict = True  # a missing entry raises, and is answered below, rather than hashing an uncollected file

    def stored_name(self, name: str) -> str:
        try:
            return super().stored_name(name)
        except ValueError:
            return name
