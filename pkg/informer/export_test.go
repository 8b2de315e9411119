package informer

import corev1 "k8s.io/api/core/v1"

// CacheNode is n as the node informer's cache holds it when rules are the bindings' rules.
func CacheNode(rules Rules, n *corev1.Node) (any, error) { return stripper(rules)(n) }

// Evaluate applies r to a whole Node, with all its labels.
func (r Rules) Evaluate(n *corev1.Node) Verdict { return r.evaluate(compact(n, n.Labels)) }

// EvaluateCached applies r to a node as the cache holds it, as syncs and event handlers do.
func (r Rules) EvaluateCached(obj any) Verdict { return r.evaluate(asNode(obj)) }
