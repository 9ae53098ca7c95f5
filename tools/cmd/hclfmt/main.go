// Command hclfmt checks or rewrites the canonical layout of OpenTofu/HCL files with
// hashicorp/hcl's formatter (the one `tofu fmt` is built on), so `make test` can check
// tofu/ without building tofu.
//
//	hclfmt -check tofu/   exit 1 and list files that need formatting
//	hclfmt -w tofu/       rewrite them
//
// Exit codes: 0 formatted, 1 files need formatting, 2 bad input (unreadable path,
// HCL syntax error).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"

	"github.com/redis-shared/conformance/tools/exitcode"
	"github.com/redis-shared/conformance/tools/safeio"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("hclfmt", flag.ContinueOnError)
	flags.SetOutput(stderr)
	check := flags.Bool("check", false, "list files that are not formatted and exit 1 if there are any")
	write := flags.Bool("w", false, "rewrite files that are not formatted")
	if code := exitcode.ParseFlagsAndArgs(flags, args, stderr); code != exitcode.Continue {
		return code
	}
	if *check == *write {
		fmt.Fprintln(stderr, "hclfmt: give exactly one of -check and -w")
		return exitcode.CouldNotRun
	}
	if flags.NArg() == 0 {
		fmt.Fprintln(stderr, "hclfmt: give at least one file or folder")
		return exitcode.CouldNotRun
	}

	var files []string
	for _, root := range flags.Args() {
		found, err := hclFiles(root)
		if err != nil {
			fmt.Fprintf(stderr, "hclfmt: %v\n", err)
			return exitcode.CouldNotRun
		}
		files = append(files, found...)
	}

	code := exitcode.OK
	for _, file := range files {
		src, err := safeio.ReadInput(file, safeio.TofuLimit)
		if err != nil {
			fmt.Fprintf(stderr, "hclfmt: %v\n", err)
			return exitcode.CouldNotRun
		}
		formatted, err := format(file, src)
		if err != nil {
			fmt.Fprintf(stderr, "hclfmt: %v\n", err)
			return exitcode.CouldNotRun
		}
		if bytes.Equal(src, formatted) {
			continue
		}
		if *write {
			if err := os.WriteFile(file, formatted, 0o644); err != nil {
				fmt.Fprintf(stderr, "hclfmt: %v\n", err)
				return exitcode.CouldNotRun
			}
		} else {
			code = exitcode.Failed
		}
		fmt.Fprintln(stdout, file)
	}
	return code
}

// format returns the canonical layout, refusing files that do not parse (the
// formatter alone would happily reflow broken syntax).
func format(name string, src []byte) ([]byte, error) {
	if _, diags := hclwrite.ParseConfig(src, name, hcl.InitialPos); diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", name, strings.Join(strings.Fields(diags.Error()), " "))
	}
	return hclwrite.Format(src), nil
}

// hclFiles lists the tofu sources under root (or root itself), skipping provider
// caches, in a stable order.
func hclFiles(root string) ([]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			return nil
		}
		if isHCL(d.Name()) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", root, errors.Unwrap(err))
	}
	slices.Sort(files)
	return files, nil
}

func isHCL(name string) bool {
	if name == ".terraform.lock.hcl" {
		return false
	}
	for _, suffix := range []string{".tf", ".tfvars", ".tftest.hcl", ".tofu"} {
		if strings.HasSuffix(name, suffix) {
			return true
		}
	}
	return false
}
