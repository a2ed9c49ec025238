"""What this machine has for the stack: the programs it needs, their versions, and how to install them."""
