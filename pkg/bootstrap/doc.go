// Package bootstrap builds, or repairs, the setup targetsync keeps in sync: the ingress
// namespace and a health-check NodePort Service in the cluster; a network load balancer, a
// target group of type ip and a TCP listener in AWS; and, optionally, worker security-group
// rules on the two NodePorts.
//
// Every run goes read (Read) → pure plan (ComputePlan) → apply (Apply), and can be repeated at
// any time: what exists is found again and left as it is, only what is missing is created, in
// dependency order, and a second run plans nothing and makes no write.
//
// Its rules:
//   - Nothing is ever deleted, and nothing that exists is replaced. Kubernetes objects that
//     exist are never updated; they are reported as "left alone" with what differs.
//   - AWS resources are found again by tags, then by name. Every resource bootstrap creates
//     carries TagCluster=<cluster> (the ownership tag run and the IAM policies rely on),
//     kubernetes.io/cluster/<cluster>=owned, and a role: TagService=<namespace>/<name> of the
//     ingress controller Service on the load balancer, the target group and the listener, and
//     TagBinding=<binding> on the target group and the listener. A resource is this cluster's
//     when TagCluster has its name; it is the one wanted when the role tags match too.
//   - Bootstrap writes only to resources tagged for its cluster: it sets the load balancer's
//     deletion protection and the target group's deregistration delay there, and adds a
//     listener only to such a load balancer. A resource found by name without the tag is used
//     as it is when that needs no write to it (a target group a new listener forwards to), and
//     is otherwise left alone, like anything tagged for another cluster or another role.
//   - What cannot change in place is never "fixed": a load balancer of another type, scheme or
//     VPC, a target group of another protocol, target type, VPC or port, or a listener port
//     that forwards elsewhere is reported as a problem and left alone, and what depends on it
//     is skipped.
//   - Security-group rules are only added (sg.Desired.Complete is false), with sg's ownership
//     marker, and never where another rule already opens the port.
//   - The health check of an existing target group is run's to keep in line; bootstrap reports
//     a difference and changes nothing.
package bootstrap
