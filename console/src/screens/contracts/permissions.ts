// What the caller may do with a contract, as the contracts service decides it
// (services/contracts/service.py: can_write, CANCELLABLE). The screen still shows the service's
// reason when it refuses: the client's department is the service's to know.
import type { User } from '../../api/types';
import type { Contract, ContractStatus } from '../clients/records';

export const CANCELLABLE: readonly ContractStatus[] = ['pending_issuance', 'issued', 'active'];

/** A Manager of the contract's department, an Admin, or the contract's specialist. */
export function mayWrite(user: Pick<User, 'id' | 'role' | 'department_id'>, contract: Pick<Contract, 'specialist_id' | 'department_id'>): boolean {
  if (user.role === 'Admin' || contract.specialist_id === user.id) return true;
  return user.role === 'Manager' && !!user.department_id && user.department_id === contract.department_id;
}

export function canIssue(contract: Pick<Contract, 'status'>): boolean {
  return contract.status === 'pending_issuance';
}

export function canCancel(contract: Pick<Contract, 'status'>): boolean {
  return CANCELLABLE.includes(contract.status);
}

/** The effective date offered first: today, kept inside the contract's period. */
export function defaultEffectiveDate(contract: Pick<Contract, 'start_date' | 'end_date'>, today: string): string {
  if (today < contract.start_date) return contract.start_date;
  if (today > contract.end_date) return contract.end_date;
  return today;
}

/** The issue date offered first: today, but not after the contract's end. */
export function defaultIssueDate(contract: Pick<Contract, 'end_date'>, today: string): string {
  return today > contract.end_date ? contract.end_date : today;
}
