// Package ingress owns the per-namespace Ingresses that publish a user's Service at
// PREFIX.CLUSTER_ID.DOMAIN through the cluster's ingress controller, both for
// `targetsync expose` and for Services annotated AnnotationPrefix while `run` has a domain.
//
// Its rules, which both paths check the same way and in the same words (Check):
//   - The Ingress lives in the Service's namespace and routes host PREFIX.CLUSTER_ID.DOMAIN,
//     path / (Prefix), to the Service on one of its .spec.ports[].port.
//   - PREFIX is a DNS label, unique across every Ingress host in the cluster: no other Ingress,
//     in any namespace, has a host whose first label is PREFIX.
//   - The Ingress name is a DNS label, unique in its namespace.
//   - An Ingress is targetsync's only when it carries both halves of the ownership marker: the
//     label LabelManagedBy=ManagedBy and the annotation AnnotationService naming the Service.
//     An Ingress without the marker is never modified or deleted; one with the marker for
//     another Service is not taken over either.
//   - The Reconciler deletes only Ingresses it made from the annotation (AnnotationOrigin =
//     OriginAnnotation), never ones `expose` made, and only once the annotation or the Service
//     is gone. A rejected Service changes nothing: its Ingress, if any, stays as it was.
//
// targetsync owns the spec of its Ingresses; labels and annotations others add are kept. The
// checks read a snapshot, and Kubernetes has no transaction across objects: two writers that
// pick one prefix at the same instant can both pass. The Reconciler runs one worker and waits
// for its cache to see each write before the next check, so it never races itself.
package ingress
