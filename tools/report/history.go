package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// RunStampLayout names a run's folder under out/runs: its UTC time, sortable.
const RunStampLayout = "20060102T150405Z"

// LatestLink is the symlink in the out dir that points at the newest run.
const LatestLink = "latest"

// RunFiles are the files of a conformance run that history keeps, when present.
var RunFiles = []string{
	"report.json", "report.md", "report.html", "junit.xml",
	"tests.json", "evidence.jsonl", "policy.json", "facts.json",
}

// SaveRun copies the run files found in outDir into outDir/runs/<UTC time>/ and
// points outDir/latest at that folder. It returns the folder.
func SaveRun(outDir string, at time.Time) (string, error) {
	stamp := at.UTC().Format(RunStampLayout)
	rel := filepath.Join("runs", stamp)
	dir := filepath.Join(outDir, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("run history: %w", err)
	}
	for _, name := range RunFiles {
		if err := copyFile(filepath.Join(outDir, name), filepath.Join(dir, name)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return "", fmt.Errorf("run history: %w", err)
		}
	}
	// Replace the link atomically: a new link under a temporary name, then rename.
	link := filepath.Join(outDir, LatestLink)
	tmp := link + ".tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(rel, tmp); err != nil {
		return "", fmt.Errorf("run history: %w", err)
	}
	if err := os.Rename(tmp, link); err != nil {
		return "", fmt.Errorf("run history: point %s at %s: %w", link, rel, err)
	}
	return dir, nil
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", from)
	}
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return out.Close()
}
