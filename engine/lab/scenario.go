package lab

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"net/netip"
	"path"
	"sort"
	"strings"
	"time"

	"smtplab/engine/dns"
	"smtplab/engine/mta"
	"smtplab/internal/minijson"
)

// Scenario is one world as data: its hosts, DNS, users and faults, and where
// the learner sits. Scenarios live in scenarios/*.json, embedded; adding a
// world is adding a file.
type Scenario struct {
	Name    string           `json:"name"`
	Title   string           `json:"title"`
	Purpose string           `json:"purpose"`
	Start   time.Time        `json:"start"`
	Learner Learner          `json:"learner"`
	Hosts   []mta.HostConfig `json:"hosts"`
	// Zone holds the DNS records, one per line in zone-file form (see dns.Parse).
	Zone string `json:"zone"`
	// DNSSEC lists the domains whose zones are signed: a validating
	// resolver vouches for every answer below them with the AD bit, which
	// is what DANE needs to trust a TLSA record (see dns.Zone.Sign). No
	// signature is computed; the list stands for a chain of trust that
	// checks out.
	DNSSEC []string `json:"dnssec,omitempty"`
	Faults []Fault  `json:"faults,omitempty"`
}

// Learner says which host the learner types on and where they connect.
type Learner struct {
	Host    string `json:"host"`    // the machine the learner sits at
	Connect string `json:"connect"` // the server the terminal connects to
	Port    int    `json:"port"`
	// The user and password the learner's mail client uses with Submit.
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// Submit is the server the mail client hands messages to, when it is
	// not Connect: the learner's own provider, say, while the terminal
	// talks to somebody else's MX.
	Submit string `json:"submit,omitempty"`
}

// Fault is something a scenario breaks on purpose.
type Fault struct {
	// Kind: "down" (the host's services are stopped: it refuses every
	// connection at once, as nothing listens), "unreachable" (the host
	// answers nothing: connections time out), "busy" (the host greets every connection with 421 and
	// closes it), "dns" (a name answers Error), "drop" (a connection from
	// Host to Peer is cut after AfterBytes bytes, or, with BeforeReply,
	// just as Host's server sends Peer a reply with that reason, such as
	// message-accepted), "latency" (the link
	// between Host and Peer is slow), "strip-starttls" (a man in the middle
	// between Host and Peer removes STARTTLS from EHLO replies),
	// "block-port" (a filter on Host's network drops its outgoing
	// connections to Port, whoever they are for, so they time out: the
	// port-25 block of a home Internet provider).
	Kind        string       `json:"kind"`
	Host        string       `json:"host,omitempty"`
	Peer        string       `json:"peer,omitempty"`
	Port        int          `json:"port,omitempty"`
	Name        string       `json:"name,omitempty"`
	RType       string       `json:"rtype,omitempty"`
	Error       string       `json:"error,omitempty"`
	AfterBytes  int          `json:"afterBytes,omitempty"`
	BeforeReply string       `json:"beforeReply,omitempty"`
	Latency     mta.Duration `json:"latency,omitempty"`
	// Until ends the fault at this virtual time after the start (0: never).
	Until mta.Duration `json:"until,omitempty"`
}

// ScenarioInfo is what a scenario picker shows.
type ScenarioInfo struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Purpose string `json:"purpose"`
}

//go:embed scenarios/*.json
var scenarioFiles embed.FS

// LoadScenario returns the embedded scenario called name. It is decoded
// but not checked again: TestScenariosAreValid checks every embedded
// scenario, and Validate, which parses the whole zone a second time, is
// on the way to the page's first world (the server's greeting), where
// every function first called costs its compile in the browser.
func LoadScenario(name string) (*Scenario, error) {
	b, err := scenarioFiles.ReadFile("scenarios/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("no scenario called %q (try one of: %s)", name, strings.Join(scenarioNames(), ", "))
	}
	return decodeScenario(b)
}

// ParseScenario decodes and checks a scenario file. Unknown fields are
// errors, so a typo in a scenario does not silently do nothing.
func ParseScenario(b []byte) (*Scenario, error) {
	s, err := decodeScenario(b)
	if err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return s, nil
}

// decodeScenario decodes a scenario file, refusing unknown fields.
func decodeScenario(b []byte) (*Scenario, error) {
	dec := minijson.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s Scenario
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	return &s, nil
}

// Validate reports the first inconsistency in s.
func (s *Scenario) Validate() error {
	if s.Name == "" || s.Title == "" || s.Purpose == "" {
		return fmt.Errorf("name, title and purpose are required")
	}
	if s.Start.IsZero() {
		return fmt.Errorf("start time is required")
	}
	names := map[string]bool{}
	for i := range s.Hosts {
		h := &s.Hosts[i]
		if err := h.Validate(); err != nil {
			return err
		}
		for _, a := range h.Addrs {
			if _, err := netip.ParseAddr(a); err != nil {
				return fmt.Errorf("host %s: address %q: %w", h.Name, a, err)
			}
		}
		names[strings.ToLower(h.Name)] = true
	}
	if !names[strings.ToLower(s.Learner.Host)] {
		return fmt.Errorf("learner host %q is not one of the hosts", s.Learner.Host)
	}
	if !names[strings.ToLower(s.Learner.Connect)] {
		return fmt.Errorf("learner connects to %q, which is not one of the hosts", s.Learner.Connect)
	}
	if s.Learner.Submit != "" && !names[strings.ToLower(s.Learner.Submit)] {
		return fmt.Errorf("learner submits to %q, which is not one of the hosts", s.Learner.Submit)
	}
	if _, err := s.zone(); err != nil {
		return err
	}
	for _, f := range s.Faults {
		switch f.Kind {
		case "down", "unreachable", "busy":
			if !names[strings.ToLower(f.Host)] {
				return fmt.Errorf("fault %s: unknown host %q", f.Kind, f.Host)
			}
		case "drop", "latency", "strip-starttls":
			if !names[strings.ToLower(f.Host)] || !names[strings.ToLower(f.Peer)] {
				return fmt.Errorf("fault %s: needs two known hosts, got %q and %q", f.Kind, f.Host, f.Peer)
			}
			if f.Kind == "drop" && f.AfterBytes > 0 && f.BeforeReply != "" {
				return fmt.Errorf("fault drop: give afterBytes or beforeReply, not both")
			}
		case "block-port":
			if !names[strings.ToLower(f.Host)] || f.Port < 1 || f.Port > 65535 {
				return fmt.Errorf("fault block-port: needs a known host and a port from 1 to 65535, got %q and %d", f.Host, f.Port)
			}
		case "dns":
			if f.Name == "" || (f.Error != "NXDOMAIN" && f.Error != "SERVFAIL" && f.Error != "TIMEOUT") {
				return fmt.Errorf("fault dns: needs a name and an error of NXDOMAIN, SERVFAIL or TIMEOUT")
			}
		default:
			return fmt.Errorf("unknown fault kind %q", f.Kind)
		}
	}
	return nil
}

// HasHost reports whether one of the scenario's hosts has this name (in
// any case, with or without the root's dot) or this address.
func (s *Scenario) HasHost(nameOrAddr string) bool {
	name := strings.TrimSuffix(nameOrAddr, ".")
	addr, err := netip.ParseAddr(nameOrAddr)
	isAddr := err == nil
	for _, h := range s.Hosts {
		if strings.EqualFold(h.Name, name) {
			return true
		}
		for _, a := range h.Addrs {
			if b, err := netip.ParseAddr(a); isAddr && err == nil && b == addr {
				return true
			}
		}
	}
	return false
}

// zone builds the scenario's DNS: its records, with the DNSSEC domains
// signed. Each signed domain must be one the zone has records in or
// below, so that a typo does not sign nothing.
func (s *Scenario) zone() (*dns.Zone, error) {
	z, err := dns.ParseZone(s.Zone)
	if err != nil {
		return nil, fmt.Errorf("zone: %w", err)
	}
	for _, d := range s.DNSSEC {
		if !hasRecordsBelow(z, d) {
			return nil, fmt.Errorf("dnssec: %q has no records in the zone", d)
		}
		if err := z.Sign(d); err != nil {
			return nil, fmt.Errorf("dnssec: %w", err)
		}
	}
	return z, nil
}

// hasRecordsBelow reports whether z has a record at domain or below it.
func hasRecordsBelow(z *dns.Zone, domain string) bool {
	domain = dns.Normalize(domain)
	for _, r := range z.Records() {
		if r.Name == domain || strings.HasSuffix(r.Name, "."+domain) {
			return true
		}
	}
	return false
}

// Scenarios lists the embedded scenarios, sorted by name. Only the fields
// a picker shows are read: the page asks for the list as it starts, and
// parsing and checking fifteen whole worlds there would only repeat what
// TestScenariosAreValid already makes sure of.
func Scenarios() []ScenarioInfo {
	var out []ScenarioInfo
	for _, name := range scenarioNames() {
		b, err := scenarioFiles.ReadFile("scenarios/" + name + ".json")
		if err != nil {
			continue
		}
		var info ScenarioInfo
		if minijson.Unmarshal(b, &info) != nil {
			continue // TestScenariosAreValid keeps this from happening
		}
		out = append(out, info)
	}
	return out
}

func scenarioNames() []string {
	entries, _ := fs.ReadDir(scenarioFiles, "scenarios")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(path.Base(e.Name()), ".json"))
	}
	sort.Strings(names)
	return names
}
