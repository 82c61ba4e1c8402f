"""dof-data: Build the unpaired portrait dataset from Flickr: resumable scraping, SQLite manifest, dedup, prepare."""
