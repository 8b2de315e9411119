package ingress

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

var site = Site{ClusterID: "c1", Domain: "example.com", Class: "nginx"}

// service is a Service in namespace ns with the given port numbers.
func service(ns, name string, ports ...int32) *corev1.Service {
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, p := range ports {
		s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Port: p})
	}
	return s
}

// annotated returns s with annotations added, as key, value, key, value.
func annotated(s *corev1.Service, kv ...string) *corev1.Service {
	s = s.DeepCopy()
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		s.Annotations[kv[i]] = kv[i+1]
	}
	return s
}

// foreign is an Ingress nobody marked, routing hosts.
func foreign(ns, name string, hosts ...string) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "7"}}
	for _, h := range hosts {
		ing.Spec.Rules = append(ing.Spec.Rules, networkingv1.IngressRule{Host: h})
	}
	return ing
}

// ours is the Ingress Build makes for r, as read back from the API server.
func ours(r Request) *networkingv1.Ingress {
	ing := Build(r, site)
	ing.ResourceVersion = "7"
	ing.UID = types.UID("uid-" + ing.Name)
	return ing
}

func request(ns, svc, name, prefix string, port int32) Request {
	return Request{Service: types.NamespacedName{Namespace: ns, Name: svc}, Name: name, Prefix: prefix, Port: port, Origin: OriginExpose}
}

func TestCheck(t *testing.T) {
	web := request("team-a", "web", "web", "web", 80)
	webIng := ours(web)
	edited := webIng.DeepCopy()
	edited.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port.Number = 8080
	edited.Labels["team"] = "a"
	edited.Annotations["cert-manager.io/cluster-issuer"] = "le"
	wantEdited := edited.DeepCopy()
	wantEdited.Spec = webIng.Spec

	tests := []struct {
		name      string
		req       Request
		svc       *corev1.Service
		ingresses []*networkingv1.Ingress
		want      Change
		wantErr   string
	}{
		{
			name: "new ingress",
			req:  web, svc: service("team-a", "web", 80, 443),
			ingresses: []*networkingv1.Ingress{foreign("team-b", "api", "api.c1.example.com")},
			want:      Change{Action: Create, Ingress: Build(web, site)},
		},
		{
			name: "already published",
			req:  web, svc: service("team-a", "web", 80),
			ingresses: []*networkingv1.Ingress{webIng},
			want:      Change{Action: None, Ingress: webIng},
		},
		{
			name: "our ingress edited: spec put back, other metadata kept",
			req:  web, svc: service("team-a", "web", 80),
			ingresses: []*networkingv1.Ingress{edited},
			want:      Change{Action: Update, Ingress: wantEdited},
		},
		{
			name: "service missing",
			req:  web, svc: nil,
			wantErr: `service team-a/web not found`,
		},
		{
			name: "port not a port of the service",
			req:  request("team-a", "web", "web", "web", 8080), svc: service("team-a", "web", 80, 443),
			wantErr: `port 8080 is not a port of service team-a/web; its ports are 80, 443`,
		},
		{
			name: "service without ports",
			req:  web, svc: service("team-a", "web"),
			wantErr: `port 80 is not a port of service team-a/web; it has no ports`,
		},
		{
			name: "prefix used by another namespace's ingress",
			req:  web, svc: service("team-a", "web", 80),
			ingresses: []*networkingv1.Ingress{foreign("team-b", "site", "other.example.org", "web.c2.example.com")},
			wantErr:   `prefix "web" is already used by ingress team-b/site (host web.c2.example.com)`,
		},
		{
			name: "prefix used by another of our ingresses",
			req:  request("team-a", "web", "web2", "web", 80), svc: service("team-a", "web", 80),
			ingresses: []*networkingv1.Ingress{webIng},
			wantErr:   `prefix "web" is already used by ingress team-a/web (host web.c1.example.com)`,
		},
		{
			name: "the first conflicting ingress in namespace/name order is named",
			req:  web, svc: service("team-a", "web", 80),
			ingresses: []*networkingv1.Ingress{foreign("z", "a", "web.x"), foreign("b", "z", "web.y"), foreign("b", "a", "WEB.z")},
			wantErr:   `prefix "web" is already used by ingress b/a (host WEB.z)`,
		},
		{
			name: "prefix as a later label is no conflict",
			req:  web, svc: service("team-a", "web", 80),
			ingresses: []*networkingv1.Ingress{foreign("team-b", "site", "www.web.example.com", "webshop.c1.example.com")},
			want:      Change{Action: Create, Ingress: Build(web, site)},
		},
		{
			name: "ingress of the name is not ours",
			req:  web, svc: service("team-a", "web", 80),
			ingresses: []*networkingv1.Ingress{foreign("team-a", "web", "other.example.org")},
			wantErr:   `ingress team-a/web exists and is not managed by targetsync: it is never modified`,
		},
		{
			name: "half the marker is not ours",
			req:  web, svc: service("team-a", "web", 80),
			ingresses: []*networkingv1.Ingress{func() *networkingv1.Ingress {
				i := foreign("team-a", "web")
				i.Labels = map[string]string{LabelManagedBy: ManagedBy}
				return i
			}()},
			wantErr: `ingress team-a/web exists and is not managed by targetsync: it is never modified`,
		},
		{
			name: "ingress of the name publishes another service",
			req:  web, svc: service("team-a", "web", 80),
			ingresses: []*networkingv1.Ingress{ours(request("team-a", "api", "web", "api", 80))},
			wantErr:   `ingress team-a/web publishes service team-a/api: it is not modified for team-a/web`,
		},
		{
			name: "service published by its annotation",
			req:  web, svc: annotated(service("team-a", "web", 80), AnnotationPrefix, "web"),
			wantErr: `service team-a/web is published by its targetsync.io/expose-prefix annotation: change the annotation instead`,
		},
		{
			name: "bad prefix",
			req:  request("team-a", "web", "web", "Web_1", 80), svc: service("team-a", "web", 80),
			wantErr: `invalid prefix "Web_1": want a DNS label: lower-case letters, digits and '-'`,
		},
		{
			name: "bad name",
			req:  request("team-a", "web", "web.v2", "web", 80), svc: service("team-a", "web", 80),
			wantErr: `invalid ingress name "web.v2": want a DNS label: lower-case letters, digits and '-'`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.req, site, tt.svc, tt.ingresses)
			if tt.wantErr != "" {
				if _, ok := err.(*Rejection); !ok || err.Error() != tt.wantErr {
					t.Fatalf("Check() error = %v (%T), want *Rejection %q", err, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Check() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckHostTooLong(t *testing.T) {
	long := Site{ClusterID: "c1", Domain: strings.Repeat("a123456789.", 23) + "com", Class: "nginx"}
	_, err := Check(request("ns", "web", "web", "web", 80), long, service("ns", "web", 80), nil)
	if err == nil || !strings.HasPrefix(err.Error(), `host "web.c1.a123456789.`) || !strings.Contains(err.Error(), "is not a valid DNS name: must be no more than 253 characters") {
		t.Fatalf("Check() error = %v, want the host named as too long", err)
	}
}

func TestBuild(t *testing.T) {
	got := Build(request("team-a", "web", "site", "www", 8080), site)
	class, pathType := "nginx", networkingv1.PathTypePrefix
	want := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   "team-a",
			Name:        "site",
			Labels:      map[string]string{"app.kubernetes.io/managed-by": "targetsync"},
			Annotations: map[string]string{"targetsync.io/service": "web", "targetsync.io/origin": "expose"},
		},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			Rules: []networkingv1.IngressRule{{
				Host: "www.c1.example.com",
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path: "/", PathType: &pathType,
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: "web", Port: networkingv1.ServiceBackendPort{Number: 8080},
						}},
					}},
				}},
			}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Build() (-want +got):\n%s", diff)
	}
	if svc, ok := Owner(got); !ok || svc != "web" {
		t.Errorf("Owner(Build()) = %q, %v; want web, true", svc, ok)
	}
}
