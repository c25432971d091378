// Package lab is the one facade every front end of SMTP Lab uses: the
// browser bridge, the Worker, the TCP bridge and the tests. It builds a
// world from a scenario, lets the learner type as a client, submits mail,
// moves virtual time, and hands out the trace and a JSON-friendly state.
package lab
