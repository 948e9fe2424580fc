"""End-to-end workloads: a task, a network built for it, runs on the engines, a report."""
