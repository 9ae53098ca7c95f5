// Package project finds the project's root so commands and tests read the real files
// (helm-values/, policies/, suites/) wherever they are started from.
package project

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ModulePath is the Go module path of this project.
const ModulePath = "github.com/redis-shared/conformance"

// Root walks up from the working directory to the directory whose go.mod declares
// this module.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find project root: %w", err)
	}
	return RootFrom(dir)
}

// RootFrom walks up from dir.
func RootFrom(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		raw, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.Contains(string(raw), "module "+ModulePath+"\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("find project root: no go.mod of %s above %s", ModulePath, dir)
		}
	}
}
