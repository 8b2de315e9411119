package app

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/leaderelection"

	"github.com/targetsync/targetsync/pkg/controller"
	"github.com/targetsync/targetsync/pkg/informer"
)

// probes answers /healthz and /readyz.
type probes struct {
	informers *informer.Informers
	ctrl      *controller.Controller
	maxAge    time.Duration
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

// readyz is ready once the caches are synced and, on the leader, every binding has synced
// successfully within three resync periods. A standby replica is ready once its caches are.
func (p *probes) readyz(w http.ResponseWriter, _ *http.Request) {
	if !p.informers.HasSynced() {
		http.Error(w, "informer caches not synced", http.StatusServiceUnavailable)
		return
	}
	if p.leading.Load() {
		if err := p.ctrl.Ready(p.maxAge); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ok")
}
