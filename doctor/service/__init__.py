"""The running proxy and its port: listening sockets, the pidfile, who owns the port, processes and
their groups, the proxy log, and start/stop/restart/status."""
