"""What team purchases do when other apps' things happen (orders closed unpaid, payments settled)."""
