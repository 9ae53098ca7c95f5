package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/probe"
)

type streams struct {
	in          io.Reader
	out, errOut io.Writer
}

const usage = "usage: redisprobe < request.json (one probe.Request; the probe.Report is written to stdout)"

// maxRequest bounds what stdin may carry: a request is a few hundred bytes.
const maxRequest = 1 << 20

func run(ctx context.Context, args []string, s streams, getenv func(string) string) int {
	if len(args) > 0 {
		if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
			fmt.Fprintln(s.out, usage)
			return exitcode.OK
		}
		fmt.Fprintf(s.errOut, "redisprobe: unexpected argument %q; %s\n", args[0], usage)
		return exitcode.CouldNotRun
	}
	resolver, err := probe.ParseResolve(getenv(probe.ResolveEnv))
	if err != nil {
		return badRequest(s, err)
	}
	// One JSON value, not the end of input: kwok's exec never closes stdin.
	dec := json.NewDecoder(io.LimitReader(s.in, maxRequest))
	dec.DisallowUnknownFields()
	var req probe.Request
	if err := dec.Decode(&req); err != nil {
		return badRequest(s, fmt.Errorf("read the request from stdin: %w", err))
	}
	if err := req.Validate(); err != nil {
		return badRequest(s, fmt.Errorf("%s request: %w", req.Kind, err))
	}
	env := probe.Env{Password: getenv(probe.PasswordEnv)}
	if len(resolver) > 0 {
		env.Dial = resolver.DialContext
	}
	rep, runErr := probe.Run(ctx, env, req)
	if err := json.NewEncoder(s.out).Encode(rep); err != nil {
		fmt.Fprintf(s.errOut, "redisprobe %s: write json: %v\n", req.Kind, err)
		return exitcode.Failed
	}
	if runErr != nil {
		fmt.Fprintf(s.errOut, "redisprobe %s: %s\n", req.Kind, oneLine(runErr))
		return exitcode.Failed
	}
	return exitcode.OK
}

func badRequest(s streams, err error) int {
	fmt.Fprintf(s.errOut, "redisprobe: %s\n", oneLine(err))
	return exitcode.CouldNotRun
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }
