"""An upload handler that stops storing a file once it passes the size limit.

Without it a 2 GB upload would be written to a temporary file before the form could say
no. The rest of the body is read and discarded, so the browser still gets the form back
with a message instead of a reset connection.
"""
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimitHandler(FileUploadHandler):
    def __init__(self, request, limit):
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.request.upload_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None
