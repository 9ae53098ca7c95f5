package cutover

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/redis-shared/conformance/tools/report"
	"github.com/redis-shared/conformance/tools/safeio"
)

// Object names one old-Redis object, "Kind/namespace/name".
type Object struct {
	Kind, Namespace, Name string
}

func (o Object) String() string { return o.Kind + "/" + o.Namespace + "/" + o.Name }

// oldRedisObjects lists the Deployment, StatefulSet and Service named OldRedis that
// exist; none at all fails (the old Redis is not found).
func (r *Runbook) oldRedisObjects(ctx context.Context) ([]string, error) {
	found, err := r.OldRedisObjects(ctx)
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("old Redis %s/%s not found (no Deployment, StatefulSet or Service of that name)", r.opts.Namespace, r.opts.OldRedis)
	}
	return found, nil
}

// OldRedisObjects lists the Deployment, StatefulSet and Service named OldRedis that
// exist, as Kind/namespace/name; none is an empty list.
func (r *Runbook) OldRedisObjects(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ns, name := r.opts.Namespace, r.opts.OldRedis
	var found []string
	get := map[string]func() error{
		"Deployment": func() error {
			_, err := r.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		},
		"StatefulSet": func() error {
			_, err := r.cs.AppsV1().StatefulSets(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		},
		"Service": func() error {
			_, err := r.cs.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
			return err
		},
	}
	for _, kind := range []string{"Deployment", "StatefulSet", "Service"} {
		err := get[kind]()
		switch {
		case err == nil:
			found = append(found, Object{kind, ns, name}.String())
		case notFound(err):
		default:
			return nil, fmt.Errorf("old Redis %s %s/%s: %w", kind, ns, name, err)
		}
	}
	return found, nil
}

func (r *Runbook) deleteObject(ctx context.Context, obj string) error {
	parts := strings.SplitN(obj, "/", 3)
	if len(parts) != 3 {
		return fmt.Errorf("object %q: want Kind/namespace/name", obj)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	var err error
	switch parts[0] {
	case "Deployment":
		err = r.cs.AppsV1().Deployments(parts[1]).Delete(ctx, parts[2], opts)
	case "StatefulSet":
		err = r.cs.AppsV1().StatefulSets(parts[1]).Delete(ctx, parts[2], opts)
	case "Service":
		err = r.cs.CoreV1().Services(parts[1]).Delete(ctx, parts[2], opts)
	default:
		return fmt.Errorf("object %s: kind not handled", obj)
	}
	if err != nil && !notFound(err) {
		return fmt.Errorf("delete %s: %w", obj, err)
	}
	return nil
}

// The requirements the cutover itself covers: the report gate of mode
// GateExceptCutover does not ask them to pass, since they can only pass after it.
var cutoverRequirements = []string{"FR-015", "FR-016", "FR-017", "FR-018"}

// Gate modes.
const (
	// GateVerdictGo asks for the report's verdict GO.
	GateVerdictGo = "go"
	// GateExceptCutover asks every requirement except FR-015..FR-018 to pass.
	GateExceptCutover = "except-cutover"
)

// Gate is the conformance-report preflight gate.
type Gate struct {
	// ReportPath is report.json (conform report); empty means no gate.
	ReportPath string
	// Mode is GateVerdictGo (default) or GateExceptCutover.
	Mode string
}

// Check reads the report and applies the gate.
func (g Gate) Check() error {
	raw, err := safeio.ReadInput(g.ReportPath, safeio.ReportInputLimit)
	if err != nil {
		return fmt.Errorf("report gate: %w", err)
	}
	var rep report.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("report gate: %s: %w", g.ReportPath, err)
	}
	return g.judge(rep)
}

func (g Gate) judge(rep report.Report) error {
	switch g.Mode {
	case "", GateVerdictGo:
		if rep.Verdict != report.VerdictGo {
			return fmt.Errorf("report gate: %s verdict is %q, want %s", g.ReportPath, rep.Verdict, report.VerdictGo)
		}
		return nil
	case GateExceptCutover:
		if len(rep.Requirements) == 0 {
			return fmt.Errorf("report gate: %s lists no requirements", g.ReportPath)
		}
		var notPassed []string
		for _, req := range rep.Requirements {
			if req.Status != report.StatusPass && !slices.Contains(cutoverRequirements, req.ID) {
				notPassed = append(notPassed, req.ID+"="+req.Status)
			}
		}
		if len(notPassed) > 0 {
			return fmt.Errorf("report gate: %s: not passed: %s", g.ReportPath, strings.Join(notPassed, ", "))
		}
		return nil
	default:
		return fmt.Errorf("report gate: mode %q: want %s or %s", g.Mode, GateVerdictGo, GateExceptCutover)
	}
}
