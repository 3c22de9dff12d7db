"""The one way out to the network, shared by the crawler and the downloader: the fetcher
(deadlines, caps, retries), its bounded HTTP/1.1 reader, URLs encoded as browsers encode them,
robots.txt rules per origin, and the guard against requests to private networks."""
