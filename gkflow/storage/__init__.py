"""Content-addressed file storage (SHA-256) behind a small interface; the filesystem under the var dir
by default. Nothing here knows cases: the services decide what a file is and who may read it."""

from gkflow.storage.blobs import BlobStore, FileBlobStore, blob_store

__all__ = ["BlobStore", "FileBlobStore", "blob_store"]
