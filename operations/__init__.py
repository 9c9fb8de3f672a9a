"""Commands for running the deployed application: arrivals on a bucket, the review queue."""
