package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/project"
	"github.com/redis-shared/conformance/tools/report"
)

// runPreflight is `conform preflight`: the first step of `make conformance`. It says
// what is about to be checked (on kube: the API server, the context, the namespace)
// and whether disruptive checks will run, refuses a disruptive kube run whose context
// is not confirmed by name, and writes the run's settings as report facts.
func runPreflight(_ context.Context, args []string, streams IOStreams) int {
	fs := newFlagSet("preflight", streams)
	tgt := fs.String("target", "sandbox", "the target about to be checked: sandbox or kube")
	kubeconfig := fs.String("kubeconfig", "", "kubeconfig (target kube; default: $KUBECONFIG or ~/.kube/config)")
	kubeContext := fs.String("context", "", "kubeconfig context (target kube; default: the kubeconfig's current context)")
	disruptive := fs.Bool("disruptive", false, "disruptive checks will run (pod deletions on kube)")
	confirm := fs.String("confirm", "", "the kube context's name, confirming a disruptive run against it")
	static := fs.Bool("static", true, "the policy gate will run")
	var values multiFlag
	fs.Var(&values, "values", "values overlay of the run (repeatable), for the report's facts")
	factsOut := fs.String("facts", "", "write the run's settings as report facts (JSON) to this file")
	if code := parseFlags(fs, args, streams); code >= 0 {
		return code
	}
	facts := map[string]string{
		report.FactDisruptive: onOff(*disruptive),
		report.FactStatic:     onOff(*static),
		report.FactValues:     "helm-values only",
	}
	if len(values) > 0 {
		facts[report.FactValues] = strings.Join(values, " ")
	}
	switch *tgt {
	case "sandbox":
		fmt.Fprintf(streams.Out, "conformance: target sandbox (this machine); disruptive checks: %s; policy gate: %s; values: %s\n",
			yesNo(*disruptive, "yes (instances killed and stopped, always restored)", "no (DISRUPTIVE=1 to run them)"),
			onOff(*static), facts[report.FactValues])
	case "kube":
		kc, err := resolveKube(*kubeconfig, *kubeContext)
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "preflight: %v", err)
		}
		facts[report.FactKubeServer], facts[report.FactKubeContext], facts[report.FactKubeNamespace] = kc.Server, kc.Context, project.Namespace
		// A refusal is the only line: it names the server and context itself.
		if *disruptive && *confirm != kc.Context {
			if *confirm == "" {
				return fail(streams, exitcode.CouldNotRun, "preflight: DISRUPTIVE=1 deletes the Redis pods of context %q (%s): confirm with CONFIRM=%s", kc.Context, kc.Server, kc.Context)
			}
			return fail(streams, exitcode.CouldNotRun, "preflight: CONFIRM=%s does not name the context about to be disrupted, %q (%s)", *confirm, kc.Context, kc.Server)
		}
		fmt.Fprintf(streams.Out, "conformance: target kube: API server %s, context %s, namespace %s; disruptive checks: %s\n",
			kc.Server, kc.Context, project.Namespace,
			yesNo(*disruptive, "YES (Redis pods deleted with grace 0, confirmed for context "+kc.Context+")", "no (DISRUPTIVE=1 CONFIRM="+kc.Context+" to run them)"))
	default:
		return fail(streams, exitcode.CouldNotRun, "preflight: --target %q: want sandbox or kube", *tgt)
	}
	if *factsOut != "" {
		raw, err := json.MarshalIndent(facts, "", "  ")
		if err != nil {
			return fail(streams, exitcode.CouldNotRun, "preflight: facts: %v", err)
		}
		if err := os.MkdirAll(filepath.Dir(*factsOut), 0o755); err != nil {
			return fail(streams, exitcode.CouldNotRun, "preflight: %v", err)
		}
		if err := os.WriteFile(*factsOut, append(raw, '\n'), 0o644); err != nil {
			return fail(streams, exitcode.CouldNotRun, "preflight: write facts: %v", err)
		}
	}
	return exitcode.OK
}

// kubeTarget is the cluster a kubeconfig context points at.
type kubeTarget struct{ Server, Context string }

// resolveKube reads the kubeconfig (without contacting the cluster) and names the
// context in effect and its API server.
func resolveKube(kubeconfig, kubeContext string) (kubeTarget, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	raw, err := cc.RawConfig()
	if err != nil {
		return kubeTarget{}, fmt.Errorf("kubeconfig: %w", err)
	}
	name := kubeContext
	if name == "" {
		name = raw.CurrentContext
	}
	if name == "" {
		return kubeTarget{}, fmt.Errorf("kubeconfig %s has no current context: name one with CONTEXT=", kubeconfigName(kubeconfig))
	}
	if _, ok := raw.Contexts[name]; !ok {
		return kubeTarget{}, fmt.Errorf("kubeconfig %s has no context %q", kubeconfigName(kubeconfig), name)
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return kubeTarget{}, fmt.Errorf("kubeconfig %s context %q: %w", kubeconfigName(kubeconfig), name, err)
	}
	return kubeTarget{Server: cfg.Host, Context: name}, nil
}

func kubeconfigName(path string) string {
	if path != "" {
		return path
	}
	if env := os.Getenv("KUBECONFIG"); env != "" {
		return env
	}
	return "~/.kube/config"
}

func onOff(b bool) string { return yesNo(b, "on", "off") }

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}
