"""Signature envelopes: XML-DSig on edXML packages, PAdES on PDF attachments, trust."""
