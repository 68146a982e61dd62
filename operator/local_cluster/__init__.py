"""A real kube-apiserver and etcd on loopback, for tests and the demo (as envtest does)."""
