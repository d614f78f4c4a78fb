"""The console's use of the operator APIs, behind one port."""
