package ingress

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestFromService(t *testing.T) {
	ref := types.NamespacedName{Namespace: "team-a", Name: "web"}
	req := func(prefix string, port int32) Request {
		return Request{Service: ref, Name: "web", Prefix: prefix, Port: port, Origin: OriginAnnotation}
	}
	tests := []struct {
		name      string
		svc       *corev1.Service
		want      Request
		wantAsked bool
		wantErr   string
	}{
		{name: "no annotation", svc: service("team-a", "web", 80)},
		{name: "only port", svc: annotated(service("team-a", "web", 8080), AnnotationPrefix, "shop"), want: req("shop", 8080), wantAsked: true},
		{name: "port given", svc: annotated(service("team-a", "web", 80, 443), AnnotationPrefix, "shop", AnnotationPort, "443"), want: req("shop", 443), wantAsked: true},
		{
			name:      "several ports, none given",
			svc:       annotated(service("team-a", "web", 80, 443), AnnotationPrefix, "shop"),
			wantAsked: true,
			wantErr:   `service team-a/web has several ports: set targetsync.io/expose-port to one of them; its ports are 80, 443`,
		},
		{
			name:      "no ports",
			svc:       annotated(service("team-a", "web"), AnnotationPrefix, "shop"),
			wantAsked: true,
			wantErr:   `service team-a/web has no ports to publish`,
		},
		{
			name:      "port not a number",
			svc:       annotated(service("team-a", "web", 80), AnnotationPrefix, "shop", AnnotationPort, "http"),
			wantAsked: true,
			wantErr:   `invalid targetsync.io/expose-port "http": want the number of a port of service team-a/web; its ports are 80`,
		},
		{
			name:      "bad prefix",
			svc:       annotated(service("team-a", "web", 80), AnnotationPrefix, "Shop.v2"),
			wantAsked: true,
			wantErr:   `invalid targetsync.io/expose-prefix "Shop.v2": want a DNS label: lower-case letters, digits and '-'`,
		},
		{
			name:      "empty prefix",
			svc:       annotated(service("team-a", "web", 80), AnnotationPrefix, ""),
			wantAsked: true,
			wantErr:   `invalid targetsync.io/expose-prefix "": want a DNS label: lower-case letters, digits and '-'`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, asked, err := FromService(tt.svc)
			if asked != tt.wantAsked {
				t.Fatalf("FromService() asked = %v, want %v", asked, tt.wantAsked)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("FromService() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("FromService() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	key := types.NamespacedName{Namespace: "team-a", Name: "web"}
	fromAnnotation := Request{Service: key, Name: "web", Prefix: "shop", Port: 80, Origin: OriginAnnotation}
	annotationIng := ours(fromAnnotation)
	exposeIng := ours(Request{Service: key, Name: "web", Prefix: "shop", Port: 80, Origin: OriginExpose})
	portMoved := fromAnnotation
	portMoved.Port = 8080
	wantMoved := annotationIng.DeepCopy()
	wantMoved.Spec = Build(portMoved, site).Spec
	takeOver := exposeIng.DeepCopy()
	takeOver.Annotations[AnnotationOrigin] = string(OriginAnnotation)
	misnamed := ours(Request{Service: types.NamespacedName{Namespace: "team-a", Name: "api"}, Name: "web", Prefix: "x", Port: 80, Origin: OriginAnnotation})
	withPrefix := func(ports ...int32) *corev1.Service {
		return annotated(service("team-a", "web", ports...), AnnotationPrefix, "shop")
	}

	tests := []struct {
		name      string
		svc       *corev1.Service
		ingresses []*networkingv1.Ingress
		want      Change
		wantErr   string
	}{
		{name: "annotation added", svc: withPrefix(80), want: Change{Action: Create, Ingress: Build(fromAnnotation, site)}},
		{name: "in sync", svc: withPrefix(80), ingresses: []*networkingv1.Ingress{annotationIng}, want: Change{Action: None, Ingress: annotationIng}},
		{name: "service port changed", svc: withPrefix(8080), ingresses: []*networkingv1.Ingress{annotationIng}, want: Change{Action: Update, Ingress: wantMoved}},
		{name: "takes over the ingress expose made for the service", svc: withPrefix(80), ingresses: []*networkingv1.Ingress{exposeIng}, want: Change{Action: Update, Ingress: takeOver}},
		{name: "annotation removed", svc: service("team-a", "web", 80), ingresses: []*networkingv1.Ingress{annotationIng}, want: Change{Action: Delete, Ingress: annotationIng}},
		{name: "service deleted", svc: nil, ingresses: []*networkingv1.Ingress{annotationIng}, want: Change{Action: Delete, Ingress: annotationIng}},
		{name: "expose's ingress is never deleted", svc: nil, ingresses: []*networkingv1.Ingress{exposeIng}, want: Change{Action: None}},
		{name: "foreign ingress is never deleted", svc: nil, ingresses: []*networkingv1.Ingress{foreign("team-a", "web", "shop.c1.example.com")}, want: Change{Action: None}},
		{name: "ours for another service is not deleted", svc: nil, ingresses: []*networkingv1.Ingress{misnamed}, want: Change{Action: None}},
		{name: "nothing asked, nothing there", svc: service("team-a", "web", 80), want: Change{Action: None}},
		{
			name: "prefix taken: rejected, the existing ingress stays",
			svc:  withPrefix(8080), ingresses: []*networkingv1.Ingress{annotationIng, foreign("team-b", "x", "shop.c9.example.com")},
			wantErr: `prefix "shop" is already used by ingress team-b/x (host shop.c9.example.com)`,
		},
		{
			name: "foreign ingress of the service's name",
			svc:  withPrefix(80), ingresses: []*networkingv1.Ingress{foreign("team-a", "web", "other.example.org")},
			wantErr: `ingress team-a/web exists and is not managed by targetsync: it is never modified`,
		},
		{
			name:    "several ports: rejected",
			svc:     withPrefix(80, 443),
			wantErr: `service team-a/web has several ports: set targetsync.io/expose-port to one of them; its ports are 80, 443`,
		},
		{
			name:    "port annotation not among the ports",
			svc:     annotated(withPrefix(80, 443), AnnotationPort, "8443"),
			wantErr: `port 8443 is not a port of service team-a/web; its ports are 80, 443`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(key, tt.svc, site, tt.ingresses)
			if tt.wantErr != "" {
				if _, ok := err.(*Rejection); !ok || err.Error() != tt.wantErr {
					t.Fatalf("Plan() error = %v, want *Rejection %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Plan() (-want +got):\n%s", diff)
			}
		})
	}
}
