"""Network politeness and safety shared by the crawler and the downloader: the user agent,
robots.txt rules per host, and the guard against requests to private networks."""
