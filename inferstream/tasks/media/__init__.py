"""The media task plug-in (DeepDetect): images and videos by claim-check, real/fake verdict."""
