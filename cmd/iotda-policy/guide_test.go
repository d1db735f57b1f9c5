package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"

	"gopkg.in/yaml.v3"

	"github.com/iotda-terraform/terraform-provider-iotda/internal/mock"
)

// guideTemplate is the guide whose workflow and shell recipe the tests run.
const guideTemplate = "../../templates/guides/reviewing-policy-changes.md.tmpl"

// guideBlock renders the guide's template (its only actions write GitHub's
// ${{ }} expressions) and returns its one fenced code block of lang.
func guideBlock(t *testing.T, lang string) string {
	t.Helper()
	tmpl, err := template.ParseFiles(guideTemplate)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := tmpl.Execute(&page, nil); err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?ms)^```"+lang+"\n(.*?)^```$").FindAllStringSubmatch(page.String(), -1)
	if len(blocks) != 1 {
		t.Fatalf("the guide has %d %s blocks, want 1", len(blocks), lang)
	}
	return blocks[0][1]
}

// commands are the lines of a script or workflow that run terraform (but
// init, a setup step) or iotda-policy: the review itself.
func commands(lines []string) []string {
	var out []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "iotda-policy ") || strings.HasPrefix(l, "terraform ") && !strings.HasPrefix(l, "terraform init") {
			out = append(out, l)
		}
	}
	return out
}

// redirectTarget is the file a command's output goes to ("> file").
func redirectTarget(command string) string {
	_, after, ok := strings.Cut(command, " > ")
	if !ok {
		return ""
	}
	return strings.Fields(after)[0]
}

// TestGuideRecipe runs the guide's shell recipe, as the guide writes it,
// with each CLI against the mock: the plan of a policy bound to 40 devices
// that widens fails the gate (exit 1) and one that only reorders passes
// (exit 0); each run writes the Markdown and the SARIF.
func TestGuideRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Terraform CLIs against the mock")
	}
	recipe := guideBlock(t, "shell")
	rc := cliTools(t)
	configs := map[string]string{}
	for _, c := range planCases {
		configs[c.name] = c.config
	}
	for name, cli := range clis(t) {
		t.Run(name, func(t *testing.T) {
			srv := mock.NewTestServer(t, mock.Config{})
			dir, path := t.TempDir(), t.TempDir()
			// The recipe says terraform: that is the CLI under test.
			for link, target := range map[string]string{"terraform": cli, "iotda-policy": filepath.Join(filepath.Dir(rc), "iotda-policy")} {
				if err := os.Symlink(target, filepath.Join(path, link)); err != nil {
					t.Fatal(err)
				}
			}
			env := append(cliEnv(rc, srv), "PATH="+path+string(os.PathListSeparator)+os.Getenv("PATH"))
			write := func(file, content string) {
				t.Helper()
				if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			run := func(name string, args ...string) (int, string) {
				t.Helper()
				cmd := exec.Command(name, args...)
				cmd.Dir, cmd.Env = dir, env
				out, err := cmd.CombinedOutput()
				var exit *exec.ExitError
				if err != nil && !errors.As(err, &exit) {
					t.Fatalf("%s: %v", name, err)
				}
				return cmd.ProcessState.ExitCode(), string(out)
			}
			write("main.tf", configs["create"])
			if code, out := run("terraform", "apply", "-auto-approve", "-no-color"); code != 0 {
				t.Fatalf("apply: exit %d\n%s", code, out)
			}
			write("waivers.json", "[]\n")
			write("recipe.sh", recipe)
			for _, step := range []struct {
				config   string
				want     int
				status   string
				findings []string
			}{
				{"widen", exitFail, "## iotda-policy review: FAIL", []string{ruleDenyTopic, ruleWidened}},
				{"reorder", exitPass, "## iotda-policy review: pass", nil},
			} {
				write("main.tf", configs[step.config])
				for _, f := range []string{"review.md", "iotda-policy.sarif"} {
					if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
						t.Fatal(err)
					}
				}
				code, out := run("bash", "recipe.sh")
				if code != step.want {
					t.Fatalf("%s: the recipe exits %d, want %d\n%s", step.config, code, step.want, out)
				}
				md, err := os.ReadFile(filepath.Join(dir, "review.md"))
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(string(md), step.status) || !strings.Contains(out, step.status) {
					t.Errorf("%s: review.md (and the recipe's output) should start with %q:\n%s", step.config, step.status, md)
				}
				if step.config == "widen" && !strings.Contains(string(md), "Blast radius from the plan: 40 devices") {
					t.Errorf("widen: review.md does not say 40 devices:\n%s", md)
				}
				var sarif struct {
					Version string `json:"version"`
					Runs    []struct {
						Results []struct {
							RuleID string `json:"ruleId"`
						} `json:"results"`
					} `json:"runs"`
				}
				b, err := os.ReadFile(filepath.Join(dir, "iotda-policy.sarif"))
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &sarif); err != nil || sarif.Version != "2.1.0" || len(sarif.Runs) != 1 {
					t.Fatalf("%s: iotda-policy.sarif is not a SARIF 2.1.0 log of one run (%v):\n%s", step.config, err, b)
				}
				var rules []string
				for _, r := range sarif.Runs[0].Results {
					rules = append(rules, r.RuleID)
				}
				slices.Sort(rules)
				if !slices.Equal(rules, step.findings) {
					t.Errorf("%s: SARIF results %v, want %v", step.config, rules, step.findings)
				}
			}
		})
	}
}

// workflow is a GitHub Actions workflow with the keys the guide's uses;
// another key (a misspelt one) fails the decoding.
type workflow struct {
	Name string `yaml:"name"`
	On   any    `yaml:"on"`
	Jobs map[string]struct {
		RunsOn      string            `yaml:"runs-on"`
		Needs       any               `yaml:"needs"`
		Permissions map[string]string `yaml:"permissions"`
		Env         map[string]string `yaml:"env"`
		Steps       []struct {
			Name string            `yaml:"name"`
			If   string            `yaml:"if"`
			Uses string            `yaml:"uses"`
			Run  string            `yaml:"run"`
			With map[string]any    `yaml:"with"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// TestGuideWorkflow checks the guide's workflow as far as it can be
// without GitHub: it parses; its review commands are the shell recipe's,
// in the same order (the recipe is run by TestGuideRecipe); the review job
// holds no credentials; the comment and the SARIF it posts are the files
// the recipe writes, posted also when the gate fails.
func TestGuideWorkflow(t *testing.T) {
	var wf workflow
	dec := yaml.NewDecoder(strings.NewReader(guideBlock(t, "yaml")))
	dec.KnownFields(true)
	if err := dec.Decode(&wf); err != nil {
		t.Fatalf("the guide's workflow: %v", err)
	}
	plan, review := wf.Jobs["plan"], wf.Jobs["review"]
	if wf.On == nil || len(plan.Steps) == 0 || len(review.Steps) == 0 || review.Needs != "plan" || plan.RunsOn == "" || review.RunsOn == "" {
		t.Fatalf("want a workflow with a plan job and a review job that needs it: %+v", wf)
	}
	recipe := commands(strings.Split(guideBlock(t, "shell"), "\n"))
	var runs []string
	for _, job := range []string{"plan", "review"} {
		for _, s := range wf.Jobs[job].Steps {
			for _, c := range commands(strings.Split(s.Run, "\n")) {
				// A failing SARIF run must not stop the job before the
				// gate's step; in the shell the next line runs anyway.
				runs = append(runs, strings.TrimSuffix(c, " || true"))
			}
		}
	}
	if !slices.Equal(runs, recipe) || len(recipe) < 4 {
		t.Errorf("the workflow runs\n  %s\nthe shell recipe\n  %s", strings.Join(runs, "\n  "), strings.Join(recipe, "\n  "))
	}
	written := map[string]bool{}
	for _, c := range recipe {
		written[redirectTarget(c)] = true
	}
	if b, err := yaml.Marshal(review); err != nil || bytes.Contains(b, []byte("secrets.")) || bytes.Contains(b, []byte("HW_")) {
		t.Errorf("the review job holds credentials (%v):\n%s", err, b)
	}
	posted := map[string]bool{}
	for _, s := range review.Steps {
		switch {
		case strings.HasPrefix(s.Uses, "github/codeql-action/upload-sarif@"):
			file, _ := s.With["sarif_file"].(string)
			posted["sarif"] = written[file] && s.If == "always()"
		case strings.Contains(s.Run, "gh pr comment"):
			_, file, _ := strings.Cut(s.Run, "--body-file ")
			posted["comment"] = written[strings.Fields(file)[0]] && s.If == "always()"
		case strings.HasPrefix(s.Uses, "actions/download-artifact@"):
			posted["plan"] = s.With["name"] == plan.Steps[len(plan.Steps)-1].With["name"] && plan.Steps[len(plan.Steps)-1].With["path"] == "plan.json" && written["plan.json"]
		}
	}
	for _, what := range []string{"sarif", "comment", "plan"} {
		if !posted[what] {
			t.Errorf("the workflow does not hand on the recipe's %s (a file the recipe writes, with if: always() where posted)", what)
		}
	}
}
