package app

import (
	"fmt"
	"net/http"
	"sync/atomic"

	"k8s.io/client-go/tools/leaderelection"

	"github.com/targetsync/targetsync/pkg/controller"
	"github.com/targetsync/targetsync/pkg/informer"
)

// probes answers /healthz and /readyz.
type probes struct {
	informers *informer.Informers
	ctrl      *controller.Controller
	leader    *leaderelection.HealthzAdaptor
	leading   atomic.Bool
}

func (p *probes) setLeading(v bool) { p.leading.Store(v) }

// healthz fails when the process is wedged: a sync hangs past its timeout, or the leader can no
// longer renew its Lease.
func (p *probes) healthz(w http.ResponseWriter, r *http.Request) {
	if err := p.ctrl.Healthy(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if p.leader != nil {
		if err := p.leader.Check(r); err != nil {
			http.Error(w, "leader election: "+err.Error(), http.StatusInternalServerError)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}

// readyz is ready once the caches are synced and, on the leader, while it still holds the
// Lease. AWS trouble never makes a replica unready: it shows in metrics and alerts, because an
// unready pod blocks every node drain in the cluster through its PodDisruptionBudget.
func (p *probes) readyz(w http.ResponseWriter, r *http.Request) {
	if !p.informers.HasSynced() {
		http.Error(w, "informer caches not synced", http.StatusServiceUnavailable)
		return
	}
	if p.leading.Load() && p.leader != nil {
		if err := p.leader.Check(r); err != nil {
			http.Error(w, "leader election: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}
