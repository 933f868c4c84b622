"""What a guest learns about itself: Nova's metadata service and config drive.

`source.py` holds the input (one frozen snapshot of an instance), `openstack.py`
and `ec2.py` the two trees built from it, `tree.py` the path resolver both the
HTTP app (`app.py`) and the config drive builder (`configdrive.py`) use.
"""
