"""What flash deals do when other apps' things happen (an order closed unpaid gives its units back)."""
