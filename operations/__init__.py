"""Commands for the deployed application: arrivals on a bucket, the review queue, backfills."""
