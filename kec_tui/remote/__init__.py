"""Remote use: the application served over SSH (`ssh_server`) and to a browser (`web`)."""
