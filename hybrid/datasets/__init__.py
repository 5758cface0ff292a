"""Question sets read from disk (PolicyQA, KB folders, CUAD): what evals and RAFT both use."""
