output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "CIDR block of the VPC."
  value       = aws_vpc.this.cidr_block
}

output "azs" {
  description = "Availability zones the subnets are in."
  value       = local.azs
}

output "public_subnet_ids" {
  description = "Public subnets (load balancers, NAT gateways)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "Private subnets (EKS nodes and pods, MSK brokers)."
  value       = aws_subnet.private[*].id
}

output "database_subnet_ids" {
  description = "Isolated subnets for RDS (no route out of the VPC)."
  value       = aws_subnet.database[*].id
}

output "subnet_cidrs" {
  description = "Planned CIDR blocks per subnet tier (known before apply; tests check they never overlap)."
  value = {
    public   = local.public_cidr
    private  = local.private_cidr
    database = local.database_cidr
  }
}
